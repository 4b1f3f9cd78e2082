package weft.authz

# Readers may GET the list of orders, writers may POST a new one.
default allow := false

allow if {
	input.attributes.request.http.method == "GET"
	input.attributes.source.principal in data.readers
}

allow if {
	input.attributes.request.http.method == "POST"
	input.attributes.source.principal in data.writers
}
