// Command kube-harness runs one Kubernetes control plane in one process for
// crosslink's tests and demo: an embedded etcd, the real kube-apiserver (RBAC,
// service-account issuer, client-certificate auth on 127.0.0.1) and the
// kube-controller-manager controllers crosslink's scenarios need (service-account
// tokens, default service accounts, namespace deletion).
//
// It writes DIR/kubeconfig (one context named after the cluster, admin client
// certificate) and, once the API server is ready, DIR/ready.json. It stops on
// SIGTERM/SIGINT, and on EOF of standard input when --exit-on-stdin-eof is set,
// so a parent that dies never leaves it behind.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return fmt.Sprint(*l) }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

var extraAPIServerArgs stringList

type readyFile struct {
	Name       string `json:"name"`
	Server     string `json:"server"`
	Port       int    `json:"port"`
	Pid        int    `json:"pid"`
	Kubeconfig string `json:"kubeconfig"`
	StartedMs  int64  `json:"startedMs"`
}

func main() {
	dir := flag.String("dir", "", "state directory for this cluster (required)")
	name := flag.String("name", "cluster", "cluster name, used as the kubeconfig context name")
	port := flag.Int("port", 0, "API server port on 127.0.0.1 (0: a free one)")
	exitOnEOF := flag.Bool("exit-on-stdin-eof", false, "stop when standard input is closed")
	flag.Var(&extraAPIServerArgs, "apiserver-arg", "an extra kube-apiserver flag, e.g. --apiserver-arg=--max-requests-inflight=1 (repeatable; wins over the defaults)")
	flag.Parse()
	if *dir == "" {
		log.Fatal("--dir is required")
	}
	start := time.Now()
	if err := run(*dir, *name, *port, *exitOnEOF, start); err != nil {
		log.Fatalf("kube-harness %s: %v", *name, err)
	}
}

func run(dir, name string, port int, exitOnEOF bool, start time.Time) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	dir, _ = filepath.Abs(dir)
	if port == 0 {
		p, err := freePort()
		if err != nil {
			return err
		}
		port = p
	} else if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
		// Fail now: the API server itself retries a taken port for ~10s.
		return fmt.Errorf("API server port: %w", err)
	} else {
		_ = l.Close()
	}
	pki, err := writePKI(filepath.Join(dir, "pki"))
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	etcd, etcdURL, err := startEtcd(filepath.Join(dir, "etcd"))
	if err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	defer etcd.Close()

	cmd := app.NewAPIServerCommand()
	ctx := cmd.Context() // cancelled by SIGTERM/SIGINT (the API server's own signal handler)
	cmd.SetArgs(apiServerArgs(pki, etcdURL, port))
	apiErr := make(chan error, 1)
	go func() { apiErr <- cmd.Execute() }()
	if exitOnEOF {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
		}()
	}

	server := fmt.Sprintf("https://127.0.0.1:%d", port)
	cfg := &rest.Config{
		Host: server,
		TLSClientConfig: rest.TLSClientConfig{
			CAFile: pki.caCert, CertFile: pki.adminCert, KeyFile: pki.adminKey,
		},
		QPS: 200, Burst: 400,
	}
	if err := waitReady(ctx, cfg, apiErr); err != nil {
		return err
	}
	if err := startControllers(ctx, cfg, pki); err != nil {
		return fmt.Errorf("controllers: %w", err)
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := writeKubeconfig(kubeconfig, name, server, pki); err != nil {
		return err
	}
	ready := readyFile{Name: name, Server: server, Port: port, Pid: os.Getpid(), Kubeconfig: kubeconfig,
		StartedMs: time.Since(start).Milliseconds()}
	b, _ := json.Marshal(ready)
	if err := writeAtomic(filepath.Join(dir, "ready.json"), b); err != nil {
		return err
	}
	log.Printf("kube-harness %s ready at %s in %dms", name, server, ready.StartedMs)

	select {
	case <-ctx.Done():
	case err := <-apiErr:
		return fmt.Errorf("kube-apiserver stopped: %v", err)
	}
	// Give the API server a moment to close its listeners before etcd goes away.
	select {
	case <-apiErr:
	case <-time.After(3 * time.Second):
	}
	return nil
}

func apiServerArgs(p pkiFiles, etcdURL string, port int) []string {
	return append([]string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--tls-cert-file=" + p.servingCert,
		"--tls-private-key-file=" + p.servingKey,
		"--client-ca-file=" + p.caCert,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + p.saKey,
		"--service-account-signing-key-file=" + p.saKey,
		"--service-cluster-ip-range=10.96.0.0/16",
		"--endpoint-reconciler-type=none",
		"--enable-priority-and-fairness=false",
		"--profiling=false",
		"--v=0",
	}, extraAPIServerArgs...)
}

// startEtcd starts the embedded etcd, retrying with fresh ports when one was
// taken between freePort and etcd's own bind (clusters start in parallel).
func startEtcd(dataDir string) (*embed.Etcd, string, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		e, u, err := startEtcdOnce(dataDir)
		if err == nil {
			return e, u, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
		_ = os.RemoveAll(dataDir)
	}
	return nil, "", lastErr
}

func startEtcdOnce(dataDir string) (*embed.Etcd, string, error) {
	clientPort, err := freePort()
	if err != nil {
		return nil, "", err
	}
	peerPort, err := freePort()
	if err != nil {
		return nil, "", err
	}
	cfg := embed.NewConfig()
	cfg.Dir = dataDir
	cfg.LogLevel = "error"
	cfg.UnsafeNoFsync = true
	cu, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", clientPort))
	pu, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", peerPort))
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", err
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, "", fmt.Errorf("not ready after 60s")
	}
	return e, cu.String(), nil
}

func waitReady(ctx context.Context, cfg *rest.Config, apiErr <-chan error) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-apiErr:
			return fmt.Errorf("kube-apiserver exited: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err == nil && string(body) == "ok" {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("kube-apiserver not ready after 120s")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
