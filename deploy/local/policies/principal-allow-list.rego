package weft.authz

# Allows the callers whose SPIFFE ID is in the policy's data.allowed.
default allow := false

allow if input.attributes.source.principal in data.allowed
