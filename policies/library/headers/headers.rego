# Allows requests whose headers meet every condition of data.weft.headers.conditions:
# [{"name": "x-tenant", "equals": "acme"} | {"name": ..., "one_of": [...]} |
#  {"name": ..., "matches": "<regex>"} | {"name": ..., "present": true|false}].
# Names are lower-case, as in input.attributes.request.http.headers.
package weft.library.headers

import rego.v1

default allow := false

headers := input.attributes.request.http.headers

met(c) if headers[c.name] == c.equals

met(c) if headers[c.name] in c.one_of

met(c) if regex.match(c.matches, headers[c.name])

met(c) if {
	c.present == true
	headers[c.name]
}

met(c) if {
	c.present == false
	not headers[c.name]
}

allow if {
	every c in data.weft.headers.conditions {
		met(c)
	}
}
