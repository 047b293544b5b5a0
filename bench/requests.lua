-- wrk script: cycle through pre-built requests read from a file (one per line:
-- METHOD<TAB>PATH<TAB>BEARER-TOKEN-or-empty<TAB>JSON-BODY-or-empty). Each wrk thread starts at its
-- own offset so two threads do not send the same request in lockstep.
local requests = {}
local index = 0
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("offset", counter * 7919)
end

function init(args)
  for line in io.lines(args[1]) do
    local method, path, token, body = line:match("^(%S+)\t(%S+)\t(%S*)\t(.*)$")
    local headers = { ["Accept"] = "application/json" }
    if token ~= "" then headers["Authorization"] = "Bearer " .. token end
    if body == "" then
      body = nil
    else
      headers["Content-Type"] = "application/json"
    end
    requests[#requests + 1] = wrk.format(method, path, headers, body)
  end
  index = (offset or 0) % #requests
end

function request()
  index = index % #requests + 1
  return requests[index]
end
