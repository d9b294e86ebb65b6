// frontier.llm: the gateway's request policy and router (njs), the same on a single host and on Swarm.
// It imports policy.js (written by the role from module_utils/gateway.py; Nginx's master compiles both with the
// configuration, so nginx -t checks them) and, for every request that reached the API location (already
// rate-limited by Nginx, per key or per client address without one):
//   - no valid key: 401;
//   - a (method, raw path) on no allowlist of the engine: 404; an operator's route with another key: 403;
//   - a user key's JSON body: must be a JSON object (400), and the fields the plan pins are refused (400,
//     naming the field and the planned value) or replaced by the plan's value;
//   - then the request goes to the location that passes it on (a user's body on a route with rules as it was
//     checked, written anew), after the model it names is stored for the Swarm's routing map.
import policy from 'policy.js';

// The routes' patterns, compiled once with the configuration.
var patterns = policy.routes.map(function (route) {
    return new RegExp(route.path);
});

function reply(r, status, message) {
    r.headersOut['Content-Type'] = 'application/json';
    r.return(status, JSON.stringify({error: message}) + '\n');
}

function find(doc, method, path) {
    for (var i = 0; i < doc.routes.length; i++) {
        var route = doc.routes[i];
        if (route.methods.indexOf(method) >= 0 && patterns[i].test(path)) {
            return route;
        }
    }
    return null;
}

function isObject(value) {
    return value !== null && typeof value === 'object' && !Array.isArray(value);
}

// The object that holds a dotted field, or null when the body has no such place.
function holder(body, field) {
    var node = body;
    for (var i = 0; i < field.length - 1; i++) {
        if (!isObject(node)) {
            return null;
        }
        node = node[field[i]];
    }
    return isObject(node) ? node : null;
}

// A key of the body (or of one of its objects the policy names) that the engine would read as one of its fields
// under another spelling (Go's JSON decoder folds case): an error message, or null.
function spelling(doc, body) {
    var canonical = new RegExp(doc.canonical_key);
    for (var i = 0; i < doc.canonical_keys.length; i++) {
        var place = doc.canonical_keys[i].length ? holder(body, doc.canonical_keys[i].concat([''])) : body;
        if (place === null) {
            continue;
        }
        var keys = Object.keys(place);
        for (var k = 0; k < keys.length; k++) {
            if (!canonical.test(keys[k])) {
                var where = doc.canonical_keys[i].length ? doc.canonical_keys[i].join('.') + '.' : '';
                return where + JSON.stringify(keys[k]).slice(1, -1) + ' is not a field name as ' + doc.engine
                    + ' spells them (lower case, digits and _)';
            }
        }
    }
    return null;
}

// Apply the policy's field rules to a user's body (in place): an error message, or null.
function check(doc, body, model) {
    var misspelt = spelling(doc, body);
    if (misspelt !== null) {
        return misspelt;
    }
    var planned = Object.prototype.hasOwnProperty.call(doc.context.models, model)
        ? doc.context.models[model] : doc.context['default'];
    for (var i = 0; i < doc.rules.length; i++) {
        var rule = doc.rules[i];
        var place = holder(body, rule.field);
        var key = rule.field[rule.field.length - 1];
        if (place === null || !Object.prototype.hasOwnProperty.call(place, key)) {
            continue;
        }
        var name = rule.field.join('.');
        var value = place[key];
        if (value === null) {
            continue;
        }
        if (rule.kind === 'refuse') {
            return name + ' is set by the host\'s plan; a request cannot change it';
        }
        if (rule.kind === 'max' && (typeof value !== 'number' || value > rule.value)) {
            return name + ' must be a number of at most ' + rule.value;
        }
        if (rule.kind === 'max_or_bool' && typeof value !== 'boolean'
                && (typeof value !== 'number' || value > rule.value)) {
            return name + ' must be true, false or a number of at most ' + rule.value;
        }
        if (rule.kind === 'tools') {
            if (!Array.isArray(value)) {
                return name + ' must be a list';
            }
            for (var t = 0; t < value.length; t++) {
                var type = isObject(value[t]) ? value[t].type : undefined;
                if (type !== undefined && rule.value.indexOf(type) < 0) {
                    return name + ': a tool of type ' + JSON.stringify(type) + ' runs on the server; only '
                        + rule.value.join(' and ') + ' tools are allowed';
                }
            }
        }
        if (rule.kind === 'context') {
            if (typeof value !== 'number' || value % 1 !== 0 || value > planned) {
                return name + ' may be at most ' + planned + ', the context the host\'s plan sized the engine\'s '
                    + 'memory for';
            }
            place[key] = planned;
        }
        if (rule.kind === 'set') {
            place[key] = rule.value;
        }
    }
    return null;
}

function handle(r) {
    var doc = policy;
    var key = r.variables.frontier_key_name;
    if (!key) {
        r.headersOut['WWW-Authenticate'] = 'Bearer realm="frontier-llm"';
        reply(r, 401, 'a valid API key is required: Authorization: Bearer <key>');
        return;
    }
    var path = r.variables.request_uri.split('?')[0];
    var route = find(doc, r.method, path);
    if (route === null) {
        reply(r, 404, 'not found: ' + r.method + ' ' + path + ' is not an API this gateway serves');
        return;
    }
    var operator = key === doc.operator;
    if (route.access === 'operator' && !operator) {
        reply(r, 403, r.method + ' ' + path + ' needs the operator key');
        return;
    }
    if (route.answer) {
        r.headersOut['Content-Type'] = 'application/json';
        r.return(200, JSON.stringify(route.answer) + '\n');
        return;
    }
    var model = '';
    var rewritten = false;
    if (route.json && (!operator || doc.route_by_model)) {
        var body;
        try {
            body = JSON.parse(r.requestText || '');
        } catch (e) {
            reply(r, 400, 'the request body is not JSON');
            return;
        }
        if (!isObject(body)) {
            reply(r, 400, 'the request body must be a JSON object');
            return;
        }
        if (typeof body.model === 'string') {
            model = body.model;
        }
        if (!operator && route.rules) {
            var refused = check(doc, body, model);
            if (refused !== null) {
                reply(r, 400, refused);
                return;
            }
            // The engine gets the body as checked here, written anew: a field given twice (JSON.parse keeps the
            // last, another parser may keep the first) or any other spelling cannot carry a value past the rules.
            rewritten = true;
            r.variables.frontier_body = JSON.stringify(body);
        }
    }
    r.variables.frontier_model = model;
    r.internalRedirect(route.target || (rewritten ? '@frontier_engine_rewritten' : '@frontier_engine'));
}

export default {handle};
