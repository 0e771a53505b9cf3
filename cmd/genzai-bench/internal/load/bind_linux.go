package load

import "syscall"

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT from linux/in.h (not in
// package syscall).
const ipBindAddressNoPort = 24

// bindNoPort defers the choice of the local port from bind to connect, so
// that a port is only required to be unique per destination, not per
// source address (and TIME_WAIT ports can be reused on loopback).
func bindNoPort(network, _ string, c syscall.RawConn) error {
	if network != "tcp4" {
		return nil
	}
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
