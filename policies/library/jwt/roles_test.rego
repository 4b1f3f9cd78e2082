package weft.library.jwt_roles_test

import rego.v1

import data.weft.library.jwt_roles

required := {"payroll": ["hr", "finance-admin"]}

request(asset, claims) := {"weft": {"asset": {"name": asset, "labels": {}}, "jwt": {"issuer": "https://id.test", "claims": claims}}}

test_role_claim_allows if {
	jwt_roles.allow with input as request("payroll", {"roles": ["hr"]}) with data.weft.jwt_roles.required_roles as required
}

test_keycloak_realm_roles_allow if {
	jwt_roles.allow with input as request("payroll", {"realm_access": {"roles": ["finance-admin"]}}) with data.weft.jwt_roles.required_roles as required
}

test_wrong_role_denied if {
	not jwt_roles.allow with input as request("payroll", {"roles": ["engineer"]}) with data.weft.jwt_roles.required_roles as required
}

test_no_token_denied if {
	not jwt_roles.allow with input as {"weft": {"asset": {"name": "payroll"}, "jwt": null}} with data.weft.jwt_roles.required_roles as required
}

test_unlisted_asset_allowed if {
	jwt_roles.allow with input as request("catalogue", {}) with data.weft.jwt_roles.required_roles as required
}
