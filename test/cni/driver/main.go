// A small runtime over libcni, the library containerd, CRI-O and podman link:
// it runs a network list the way they do (AddNetworkList, CheckNetworkList,
// DelNetworkList, the result cache) so the tests and the benchmark see a
// plugin through the same code a real runtime uses.
//
// Usage:
//
//	driver -path DIRS -cache-dir DIR [-args K=V;K=V] [-cap JSON] VERB ...
//	  add|check|del|cached CONFLIST CONTAINERID NETNS IFNAME
//	  validate CONFLIST               ValidateNetworkList (the VERSION calls)
//	  raw PLUGIN                      stdin to PLUGIN with this process's
//	                                  environment, through libcni's executor
//	  bench add|del CONFLIST N PARALLEL IDPREFIX NETNSDIR
//	                                  N containers IDPREFIX<i>, netns
//	                                  NETNSDIR/IDPREFIX<i>, eth0, at most
//	                                  PARALLEL at once; prints each call's time
//
// Output is one JSON object on stdout: {"ok":true,"result":...} or
// {"ok":false,"error":{"code":N,"msg":"...","details":"..."}} (exit 1).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
)

type failure struct {
	Code    uint   `json:"code"`
	Msg     string `json:"msg"`
	Details string `json:"details,omitempty"`
}

func emit(v interface{}, err error) {
	out := map[string]interface{}{"ok": err == nil}
	if err != nil {
		var te *types.Error
		if errors.As(err, &te) {
			out["error"] = failure{te.Code, te.Msg, te.Details}
		} else {
			out["error"] = failure{0, err.Error(), ""}
		}
	} else if v != nil {
		out["result"] = v
	}
	b, merr := json.Marshal(out)
	if merr != nil {
		fmt.Fprintf(os.Stderr, "driver: cannot encode output: %v\n", merr)
		os.Exit(2)
	}
	os.Stdout.Write(append(b, '\n'))
	if err != nil {
		os.Exit(1)
	}
}

func usage(msg string) {
	fmt.Fprintf(os.Stderr, "driver: %s\n", msg)
	os.Exit(2)
}

// "K=V;K2=V2", the CNI_ARGS form, into libcni's pairs.
func parseArgs(s string) [][2]string {
	var pairs [][2]string
	for _, kv := range strings.Split(s, ";") {
		if kv == "" {
			continue
		}
		k, v, found := strings.Cut(kv, "=")
		if !found {
			usage(fmt.Sprintf("-args: %q is not K=V", kv))
		}
		pairs = append(pairs, [2]string{k, v})
	}
	return pairs
}

func main() {
	path := flag.String("path", "", "CNI_PATH: plugin directories, colon-separated")
	cacheDir := flag.String("cache-dir", "", "libcni's result cache directory")
	cniArgs := flag.String("args", "", "CNI_ARGS, K=V;K=V")
	capJSON := flag.String("cap", "", "capability arguments (runtimeConfig), a JSON object")
	flag.Parse()
	argv := flag.Args()
	if len(argv) < 1 {
		usage("no verb")
	}
	if *cacheDir == "" && argv[0] != "raw" {
		usage("-cache-dir is required (never the host's /var/lib/cni)")
	}
	cni := libcni.NewCNIConfigWithCacheDir(strings.Split(*path, ":"), *cacheDir, nil)
	ctx := context.Background()

	var caps map[string]interface{}
	if *capJSON != "" {
		if err := json.Unmarshal([]byte(*capJSON), &caps); err != nil {
			usage(fmt.Sprintf("-cap: %v", err))
		}
	}
	runtime := func(id, netns, ifname string) *libcni.RuntimeConf {
		return &libcni.RuntimeConf{ContainerID: id, NetNS: netns, IfName: ifname,
			Args: parseArgs(*cniArgs), CapabilityArgs: caps, CacheDir: *cacheDir}
	}

	switch argv[0] {
	case "add", "check", "del", "cached":
		if len(argv) != 5 {
			usage(argv[0] + " CONFLIST CONTAINERID NETNS IFNAME")
		}
		list, err := libcni.ConfListFromFile(argv[1])
		if err != nil {
			emit(nil, err)
		}
		rt := runtime(argv[2], argv[3], argv[4])
		switch argv[0] {
		case "add":
			emit(cni.AddNetworkList(ctx, list, rt))
		case "check":
			emit(nil, cni.CheckNetworkList(ctx, list, rt))
		case "del":
			emit(nil, cni.DelNetworkList(ctx, list, rt))
		case "cached":
			emit(cni.GetNetworkListCachedResult(list, rt))
		}
	case "validate":
		if len(argv) != 2 {
			usage("validate CONFLIST")
		}
		list, err := libcni.ConfListFromFile(argv[1])
		if err != nil {
			emit(nil, err)
		}
		emit(cni.ValidateNetworkList(ctx, list))
	case "raw":
		if len(argv) != 2 {
			usage("raw PLUGIN")
		}
		stdin, err := io.ReadAll(os.Stdin)
		if err != nil {
			usage(err.Error())
		}
		out, err := (&invoke.RawExec{Stderr: os.Stderr}).ExecPlugin(ctx, argv[1], stdin, os.Environ())
		if err != nil {
			emit(nil, err)
		}
		var v interface{}
		if len(out) > 0 {
			if jerr := json.Unmarshal(out, &v); jerr != nil {
				emit(nil, fmt.Errorf("plugin succeeded but its stdout is not JSON: %q: %v", out, jerr))
			}
		}
		emit(v, nil)
	case "bench":
		runBench(ctx, cni, runtime, argv[1:])
	default:
		usage("unknown verb " + argv[0])
	}
}

// The benchmark: N calls of one verb, PARALLEL at a time, each timed around
// the libcni call alone (the netns exist already; the driver starts once).
func runBench(ctx context.Context, cni *libcni.CNIConfig, runtime func(string, string, string) *libcni.RuntimeConf, argv []string) {
	if len(argv) != 6 {
		usage("bench add|del CONFLIST N PARALLEL IDPREFIX NETNSDIR")
	}
	var n, parallel int
	if _, err := fmt.Sscan(argv[2], &n); err != nil || n < 1 {
		usage("bench: N must be a positive integer")
	}
	if _, err := fmt.Sscan(argv[3], &parallel); err != nil || parallel < 1 {
		usage("bench: PARALLEL must be a positive integer")
	}
	list, err := libcni.ConfListFromFile(argv[1])
	if err != nil {
		emit(nil, err)
	}
	verb, prefix, dir := argv[0], argv[4], argv[5]
	if verb != "add" && verb != "del" {
		usage("bench: verb must be add or del")
	}
	durations := make([]int64, n)
	errs := make([]error, n)
	slots := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		slots <- struct{}{}
		go func(i int) {
			defer func() { <-slots; wg.Done() }()
			id := fmt.Sprintf("%s%d", prefix, i)
			rt := runtime(id, dir+"/"+id, "eth0")
			t := time.Now()
			if verb == "add" {
				_, errs[i] = cni.AddNetworkList(ctx, list, rt)
			} else {
				errs[i] = cni.DelNetworkList(ctx, list, rt)
			}
			durations[i] = time.Since(t).Nanoseconds()
		}(i)
	}
	wg.Wait()
	wall := time.Since(start).Nanoseconds()
	for i, e := range errs {
		if e != nil {
			emit(nil, fmt.Errorf("%s %s%d: %w", verb, prefix, i, e))
		}
	}
	emit(map[string]interface{}{"wallNs": wall, "callNs": durations}, nil)
}
