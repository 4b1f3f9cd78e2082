package weft.library.jwt_test

import rego.v1

import data.weft.library.jwt

required := {"GET": ["orders:read"], "POST": ["orders:read", "orders:write"]}

request(method, claims) := {"attributes": {"request": {"http": {"method": method}}}, "weft": {"jwt": {"claims": claims}}}

test_string_scope_allows if {
	jwt.allow with input as request("GET", {"scope": "profile orders:read"}) with data.weft.jwt.required_scopes as required
}

test_array_scope_allows if {
	jwt.allow with input as request("POST", {"scp": ["orders:read", "orders:write"]}) with data.weft.jwt.required_scopes as required
}

test_missing_scope_denied if {
	not jwt.allow with input as request("POST", {"scope": "orders:read"}) with data.weft.jwt.required_scopes as required
	jwt.missing == {"orders:write"} with input as request("POST", {"scope": "orders:read"}) with data.weft.jwt.required_scopes as required
}

test_no_token_denied if {
	not jwt.allow with input as {"attributes": {"request": {"http": {"method": "GET"}}}} with data.weft.jwt.required_scopes as required
}

test_unknown_method_denied if {
	not jwt.allow with input as request("DELETE", {"scope": "orders:read"}) with data.weft.jwt.required_scopes as required
}
