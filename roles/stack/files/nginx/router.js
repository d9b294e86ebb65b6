// frontier.llm: the Swarm gateway's router (njs). Reads the model an OpenAI-style request names in its JSON body
// and hands the request to the location that passes it to that model's engine service (nginx.conf's
// $frontier_route map). The body stays in Nginx's buffer and goes to the engine unchanged.
function route(r) {
    var model = '';
    var body = r.requestText;
    if (body) {
        var request;
        try {
            request = JSON.parse(body);
        } catch (e) {
            r.headersOut['Content-Type'] = 'application/json';
            r.return(400, '{"error": "the request body is not JSON"}\n');
            return;
        }
        if (request && typeof request.model === 'string') {
            model = request.model;
        }
    }
    r.variables.frontier_model = model;
    r.internalRedirect('@frontier_engine');
}

export default {route};
