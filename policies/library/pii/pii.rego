# Denies assets labelled as holding personal data (label pii: "true") to every caller whose SPIFFE
# principal is not in data.weft.pii.allowed_principals; other assets are left to other policies.
# Answers with a reason, for the decision log and x-weft-denied-by.
package weft.library.pii

import rego.v1

pii_asset if input.weft.asset.labels.pii == "true"

caller := input.attributes.source.principal

default decision := {"allowed": true}

decision := {"allowed": false, "http_status": 403, "reason": sprintf("asset %s holds personal data; %s is not on its allow list", [input.weft.asset.name, caller])} if {
	pii_asset
	not caller in data.weft.pii.allowed_principals
}
