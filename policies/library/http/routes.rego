# Allows requests whose method and path match a route in data.weft.http.routes:
# [{"methods": ["GET"], "path_prefix": "/api/", "principals": ["spiffe://..."]}] (principals optional).
package weft.library.http

import rego.v1

default allow := false

http := input.attributes.request.http

# The path without its query string.
path := split(http.path, "?")[0]

allow if {
	some route in data.weft.http.routes
	http.method in route.methods
	startswith(path, route.path_prefix)
	caller_matches(route)
}

caller_matches(route) if not route.principals

caller_matches(route) if input.attributes.source.principal in route.principals
