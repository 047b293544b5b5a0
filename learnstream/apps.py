from django.apps import AppConfig


class LearnstreamConfig(AppConfig):
    name = "learnstream"
    verbose_name = "LearnStream"
