package weft.library.headers_test

import rego.v1

import data.weft.library.headers

conditions := [
	{"name": "x-tenant", "one_of": ["acme", "globex"]},
	{"name": "x-api-version", "matches": "^v[2-9]$"},
	{"name": "x-debug", "present": false},
	{"name": "x-region", "equals": "eu"},
]

request(h) := {"attributes": {"request": {"http": {"headers": h}}}}

good := {"x-tenant": "acme", "x-api-version": "v2", "x-region": "eu"}

test_all_conditions_met if {
	headers.allow with input as request(good) with data.weft.headers.conditions as conditions
}

test_value_not_in_list if {
	not headers.allow with input as request(object.union(good, {"x-tenant": "initech"})) with data.weft.headers.conditions as conditions
}

test_regex_not_matched if {
	not headers.allow with input as request(object.union(good, {"x-api-version": "v1"})) with data.weft.headers.conditions as conditions
}

test_forbidden_header_present if {
	not headers.allow with input as request(object.union(good, {"x-debug": "1"})) with data.weft.headers.conditions as conditions
}

test_missing_header if {
	not headers.allow with input as request(object.remove(good, ["x-region"])) with data.weft.headers.conditions as conditions
}

test_required_presence if {
	headers.allow with input as request({"x-trace": "1"}) with data.weft.headers.conditions as [{"name": "x-trace", "present": true}]
	not headers.allow with input as request({}) with data.weft.headers.conditions as [{"name": "x-trace", "present": true}]
}
