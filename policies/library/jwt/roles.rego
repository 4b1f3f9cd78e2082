# Requires an end-user token with roles for the asset the request matched:
# data.weft.jwt_roles.required_roles is {"<asset name>": ["role", ...]} and any one listed role
# suffices. Roles come from the verified claims' `roles` or Keycloak's `realm_access.roles`.
# Assets not listed are allowed (other policies decide them).
package weft.library.jwt_roles

import rego.v1

default allow := false

claims := input.weft.jwt.claims

roles contains r if some r in claims.roles

roles contains r if some r in claims.realm_access.roles

asset := input.weft.asset.name

allow if not data.weft.jwt_roles.required_roles[asset]

allow if {
	some r in data.weft.jwt_roles.required_roles[asset]
	r in roles
}
