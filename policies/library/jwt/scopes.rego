# Requires an end-user token with scopes: data.weft.jwt.required_scopes lists scopes by method,
# e.g. {"GET": ["orders:read"], "POST": ["orders:write"]}. The sidecar puts verified claims in
# input.weft.jwt.claims; `scope` may be a space-separated string or an array (`scp`).
package weft.library.jwt

import rego.v1

default allow := false

claims := input.weft.jwt.claims

scopes contains s if some s in split(claims.scope, " ")

scopes contains s if some s in claims.scp

required := data.weft.jwt.required_scopes[input.attributes.request.http.method]

missing contains s if {
	some s in required
	not s in scopes
}

allow if {
	claims
	required
	count(missing) == 0
}
