package weft.authz

web := "spiffe://cluster.local/ns/default/sa/web"

request(principal, method) := {"attributes": {"source": {"principal": principal}, "request": {"http": {"method": method}}}}

test_web_reads if {
	allow with input as request(web, "GET") with data.readers as [web]
}

test_others_do_not_read if {
	not allow with input as request("spiffe://cluster.local/ns/default/sa/inventory", "GET") with data.readers as [web]
}

test_no_delete if {
	not allow with input as request(web, "DELETE") with data.readers as [web] with data.writers as [web]
}
