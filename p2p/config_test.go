package p2p

import (
	"net"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"
)

func TestConfigDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if len(c.ListenAddrs) != 4 || c.ListenAddrs[0] != "/ip4/0.0.0.0/tcp/9742" {
		t.Errorf("ListenAddrs = %v", c.ListenAddrs)
	}
	if c.MaxMessageSize != DefaultMaxMessageSize || c.AdvertiseInterval != time.Hour ||
		c.ConnLow != 64 || c.ConnHigh != 256 || c.Logger == nil {
		t.Errorf("defaults = %+v", c)
	}
	if c.AdvertiseInterval >= ProviderTTL {
		t.Error("records would expire before they are renewed")
	}
	c = Config{ConnLow: 300}.withDefaults()
	if c.ConnHigh <= c.ConnLow {
		t.Errorf("ConnHigh %d not above ConnLow %d", c.ConnHigh, c.ConnLow)
	}
}

func TestPublicAddrs(t *testing.T) {
	var in []ma.Multiaddr
	for _, s := range []string{"/ip4/127.0.0.1/tcp/1", "/ip4/192.168.1.2/tcp/1", "/ip4/8.8.8.8/tcp/1"} {
		in = append(in, ma.StringCast(s))
	}
	out := publicAddrs(in)
	if len(out) != 1 || out[0].String() != "/ip4/8.8.8.8/tcp/1" {
		t.Errorf("publicAddrs = %v", out)
	}
}

func TestDHTModeMapping(t *testing.T) {
	seen := map[any]bool{}
	for _, m := range []DHTMode{DHTAutoServer, DHTServer, DHTClient} {
		seen[dhtMode(m)] = true
	}
	if len(seen) != 3 {
		t.Error("DHT modes do not map to distinct libp2p modes")
	}
}

func TestColocationWhitelist(t *testing.T) {
	contains := func(nets []*net.IPNet, ip string) bool {
		for _, n := range nets {
			if n.Contains(net.ParseIP(ip)) {
				return true
			}
		}
		return false
	}
	lan, public := colocationWhitelist(false), colocationWhitelist(true)
	for _, ip := range []string{"127.0.0.1", "127.3.4.5", "::1"} {
		if !contains(lan, ip) || !contains(public, ip) {
			t.Errorf("loopback %s not whitelisted", ip)
		}
	}
	for _, ip := range []string{"192.168.1.10", "10.1.2.3", "fd00::1"} {
		if !contains(lan, ip) || contains(public, ip) {
			t.Errorf("private %s: LAN %v, public-only %v", ip, contains(lan, ip), contains(public, ip))
		}
	}
	if contains(lan, "8.8.8.8") {
		t.Error("a public address is whitelisted")
	}
}
