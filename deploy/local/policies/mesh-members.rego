package weft.authz

# Allows any caller with a mesh identity of this trust domain.
default allow := false

allow if startswith(input.attributes.source.principal, sprintf("spiffe://%s/", [data.trustDomain]))
