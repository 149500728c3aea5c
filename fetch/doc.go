// Package fetch downloads submission files from URLs that arrive in Spark
// webhooks, without letting such a URL reach Optio's own network (SSRF).
//
// Every URL, the first and each redirect, must be http or https, carry no
// user info, name an allowed host (when an allowlist is set) and not be a
// numeric host in a non-canonical form. The address actually connected to is
// checked at connect time, inside the dialer, so a name that resolves to a
// private address, including through DNS rebinding, is refused too.
// Proxies from the environment are never used.
package fetch
