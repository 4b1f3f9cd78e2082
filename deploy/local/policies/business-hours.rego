package weft.authz

# Reads at any time; writes only between data.fromHour and data.toHour (UTC).
default allow := false

allow if input.attributes.request.http.method in {"GET", "HEAD"}

allow if {
	[hour, _, _] := time.clock([time.now_ns(), "UTC"])
	data.fromHour <= hour
	hour < data.toHour
}
