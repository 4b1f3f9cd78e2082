package weft.library.http_test

import rego.v1

import data.weft.library.http

routes := [
	{"methods": ["GET", "HEAD"], "path_prefix": "/public/"},
	{"methods": ["POST"], "path_prefix": "/api/orders", "principals": ["spiffe://weft.local/ns/shop/sa/cart"]},
]

request(method, path, principal) := {"attributes": {
	"source": {"principal": principal},
	"request": {"http": {"method": method, "path": path}},
}}

test_public_get_allowed if {
	http.allow with input as request("GET", "/public/logo.png?v=2", "") with data.weft.http.routes as routes
}

test_public_post_denied if {
	not http.allow with input as request("POST", "/public/logo.png", "") with data.weft.http.routes as routes
}

test_route_with_principal if {
	http.allow with input as request("POST", "/api/orders/7", "spiffe://weft.local/ns/shop/sa/cart") with data.weft.http.routes as routes
	not http.allow with input as request("POST", "/api/orders/7", "spiffe://weft.local/ns/shop/sa/other") with data.weft.http.routes as routes
}

test_query_string_does_not_match_prefix if {
	not http.allow with input as request("GET", "/private?x=/public/", "") with data.weft.http.routes as routes
}
