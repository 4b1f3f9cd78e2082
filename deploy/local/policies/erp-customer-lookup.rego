package weft.authz

# GetCustomer through the legacy bridge, by an allowed caller, for a customer that is not restricted.
default allow := false

allow if {
	input.attributes.source.principal in data.callers
	input.weft.bridge.operation == "GetCustomer"
	not restricted
}

restricted if input.weft.bridge.args.customerId in data.restricted
