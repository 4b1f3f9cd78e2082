package weft.library.pii_test

import rego.v1

import data.weft.library.pii

allowed := ["spiffe://weft.local/ns/billing/sa/ledger"]

request(principal, labels) := {
	"attributes": {"source": {"principal": principal}},
	"weft": {"asset": {"name": "customers", "labels": labels}},
}

test_listed_caller_reads_pii if {
	d := pii.decision with input as request("spiffe://weft.local/ns/billing/sa/ledger", {"pii": "true"}) with data.weft.pii.allowed_principals as allowed
	d.allowed
}

test_other_caller_denied_with_reason if {
	d := pii.decision with input as request("spiffe://weft.local/ns/shop/sa/cart", {"pii": "true"}) with data.weft.pii.allowed_principals as allowed
	not d.allowed
	d.http_status == 403
	contains(d.reason, "spiffe://weft.local/ns/shop/sa/cart")
}

test_no_principal_denied if {
	d := pii.decision with input as request("", {"pii": "true"}) with data.weft.pii.allowed_principals as allowed
	not d.allowed
}

test_non_pii_asset_left_alone if {
	d := pii.decision with input as request("spiffe://weft.local/ns/shop/sa/cart", {"pii": "false"}) with data.weft.pii.allowed_principals as allowed
	d.allowed
}
