# Allows callers by SPIFFE identity: exact principals, namespaces or trust domains listed in
# data.weft.spiffe (allowed_principals, allowed_namespaces, allowed_trust_domains).
package weft.library.spiffe

import rego.v1

default allow := false

# spiffe://<trust domain>/ns/<namespace>/sa/<service account>
parse(id) := {"trust_domain": parts[0], "namespace": parts[2], "service_account": parts[4]} if {
	startswith(id, "spiffe://")
	parts := split(substring(id, 9, -1), "/")
	count(parts) == 5
	parts[1] == "ns"
	parts[3] == "sa"
}

principal := input.attributes.source.principal

allow if principal in data.weft.spiffe.allowed_principals

allow if parse(principal).namespace in data.weft.spiffe.allowed_namespaces

allow if parse(principal).trust_domain in data.weft.spiffe.allowed_trust_domains
