# SPDX-License-Identifier: MIT
#
# Flattens each input line that holds one JSON value into "path=value"
# lines: {"a":{"b":1,"c":"x"},"d":[true]} gives a.b=1, a.c=x, d.0=true.
# Strings lose their quotes (escapes are kept as written). Enough for the
# output of vrseq-check --json; POSIX awk (mawk, busybox awk) is enough.

function err(msg) {
	printf "json-flat: %s at offset %d\n", msg, pos > "/dev/stderr"
	bad = 1
}

function skipws() {
	while (pos <= len && index(" \t\r\n", substr(s, pos, 1)))
		pos++
}

function str(   start, c) {	# at the opening quote; returns the contents
	start = ++pos
	while (pos <= len) {
		c = substr(s, pos, 1)
		if (c == "\\")
			pos += 2
		else if (c == "\"")
			break
		else
			pos++
	}
	if (pos > len) {
		err("unterminated string")
		return ""
	}
	pos++
	return substr(s, start, pos - 1 - start)
}

function join(path, key) {
	return path == "" ? key : path "." key
}

function value(path,   c, key, n, start) {
	skipws()
	c = substr(s, pos, 1)
	if (c == "{") {
		pos++
		skipws()
		if (substr(s, pos, 1) == "}") {
			pos++
			return
		}
		while (!bad) {
			skipws()
			if (substr(s, pos, 1) != "\"") {
				err("expected a key")
				return
			}
			key = str()
			skipws()
			if (substr(s, pos, 1) != ":") {
				err("expected :")
				return
			}
			pos++
			value(join(path, key))
			skipws()
			c = substr(s, pos++, 1)
			if (c == "}")
				return
			if (c != ",") {
				err("expected , or }")
				return
			}
		}
	} else if (c == "[") {
		pos++
		skipws()
		if (substr(s, pos, 1) == "]") {
			pos++
			return
		}
		for (n = 0; !bad; n++) {
			value(join(path, n))
			skipws()
			c = substr(s, pos++, 1)
			if (c == "]")
				return
			if (c != ",") {
				err("expected , or ]")
				return
			}
		}
	} else if (c == "\"") {
		print path "=" str()
	} else {
		start = pos
		while (pos <= len && !index(",}] \t\r\n", substr(s, pos, 1)))
			pos++
		if (pos == start)
			err("expected a value")
		else
			print path "=" substr(s, start, pos - start)
	}
}

{
	s = $0
	len = length(s)
	pos = 1
	bad = 0
	value(prefix)
	if (bad)
		exit 1
}
