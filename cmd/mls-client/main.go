// Command mls-client is SpacePanda's MLS interop client: a gRPC server
// implementing the MLS working group's MLSClient service
// (mls-implementations/interop/mls_client.proto) on top of package mls,
// so that the working group's test-runner can play its scenarios
// (test-scenarios.md) between this implementation and others.
//
// Usage:
//
//	mls-client -port 50051
//
// It listens for plaintext gRPC on 127.0.0.1 and the given port (0 picks a
// free one) and prints "listening on ADDR" once ready. docs/mls.md, "The
// interop client", says how to run it under the test-runner and which RPC
// uses which part of RFC 9420. It imports only mls, gRPC and protobuf.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"

	"github.com/spacepanda/spacepanda/cmd/mls-client/internal/pb"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "mls-client:", err)
		os.Exit(1)
	}
}

// run parses the flags (the flag package accepts -port and --port alike)
// and serves until SIGINT or SIGTERM.
func run(args []string) error {
	fs := flag.NewFlagSet("mls-client", flag.ContinueOnError)
	port := fs.Int("port", 50051, "TCP port to listen on (0: any free port)")
	host := fs.String("host", "127.0.0.1", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *port < 0 || *port > 65535 {
		return fmt.Errorf("port %d out of range", *port)
	}
	lis, err := net.Listen("tcp", net.JoinHostPort(*host, fmt.Sprint(*port)))
	if err != nil {
		return err
	}
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(64 << 20))
	pb.RegisterMLSClientServer(gs, newServer())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		gs.Stop()
	}()
	fmt.Printf("listening on %s\n", lis.Addr())
	return gs.Serve(lis)
}
