package weft.library.spiffe_test

import rego.v1

import data.weft.library.spiffe

config := {
	"allowed_principals": ["spiffe://weft.local/ns/shop/sa/cart"],
	"allowed_namespaces": ["billing"],
	"allowed_trust_domains": ["partner.example"],
}

request(principal) := {"attributes": {"source": {"principal": principal}}}

test_parse_splits_the_id if {
	spiffe.parse("spiffe://weft.local/ns/shop/sa/cart") == {"trust_domain": "weft.local", "namespace": "shop", "service_account": "cart"}
}

test_parse_rejects_other_shapes if {
	not spiffe.parse("spiffe://weft.local/cart")
	not spiffe.parse("https://weft.local/ns/shop/sa/cart")
}

test_exact_principal_allowed if {
	spiffe.allow with input as request("spiffe://weft.local/ns/shop/sa/cart") with data.weft.spiffe as config
}

test_namespace_allowed if {
	spiffe.allow with input as request("spiffe://weft.local/ns/billing/sa/any") with data.weft.spiffe as config
}

test_trust_domain_allowed if {
	spiffe.allow with input as request("spiffe://partner.example/ns/x/sa/y") with data.weft.spiffe as config
}

test_other_callers_denied if {
	not spiffe.allow with input as request("spiffe://weft.local/ns/shop/sa/search") with data.weft.spiffe as config
}

test_missing_principal_denied if {
	not spiffe.allow with input as {} with data.weft.spiffe as config
}
