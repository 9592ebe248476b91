// Package nattest holds the NAT traversal tests: real spacepanda daemons in
// Linux network namespaces, behind NAT routers built with nftables, talking
// through a relay on a "public" segment (docs/nat.md). The package has no
// code outside its tests.
//
// The tests need root, iproute2 and nftables; without them they skip and
// say why. The namespaces are connected only to each other by veth pairs:
// no interface reaches the host's network, so no packet leaves the machine.
package nattest
