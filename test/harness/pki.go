package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pkiFiles are the paths of one cluster's certificates and keys.
type pkiFiles struct {
	caCert, servingCert, servingKey, adminCert, adminKey, saKey string
}

// writePKI makes a fresh cluster CA, a serving certificate for 127.0.0.1, an
// admin client certificate (group system:masters) and the service-account
// signing key.
func writePKI(dir string) (pkiFiles, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return pkiFiles{}, err
	}
	p := pkiFiles{
		caCert: filepath.Join(dir, "ca.crt"), servingCert: filepath.Join(dir, "serving.crt"),
		servingKey: filepath.Join(dir, "serving.key"), adminCert: filepath.Join(dir, "admin.crt"),
		adminKey: filepath.Join(dir, "admin.key"), saKey: filepath.Join(dir, "sa.key"),
	}
	now := time.Now().Add(-time.Hour)
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "kube-harness-ca"},
		NotBefore: now, NotAfter: now.Add(10 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return p, err
	}
	ca, _ := x509.ParseCertificate(caDER)
	if err := writePEM(p.caCert, "CERTIFICATE", caDER); err != nil {
		return p, err
	}
	if err := leaf(ca, caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, now, p.servingCert, p.servingKey); err != nil {
		return p, err
	}
	if err := leaf(ca, caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-harness-admin", Organization: []string{"system:masters"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, now, p.adminCert, p.adminKey); err != nil {
		return p, err
	}
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return p, err
	}
	return p, writePEM(p.saKey, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(saKey))
}

func leaf(ca *x509.Certificate, caKey *ecdsa.PrivateKey, t *x509.Certificate, now time.Time, certPath, keyPath string) error {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	t.SerialNumber = serial()
	t.NotBefore, t.NotAfter = now, now.Add(10*365*24*time.Hour)
	t.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	der, err := x509.CreateCertificate(rand.Reader, t, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	if err := writePEM(certPath, "CERTIFICATE", der); err != nil {
		return err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(keyPath, "EC PRIVATE KEY", kb)
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n.Add(n, big.NewInt(1))
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}

// writeKubeconfig writes a self-contained kubeconfig with one context named
// after the cluster, the CA and the admin credentials embedded.
func writeKubeconfig(path, name, server string, p pkiFiles) error {
	b64 := func(f string) (string, error) {
		b, err := os.ReadFile(f)
		return base64.StdEncoding.EncodeToString(b), err
	}
	ca, err := b64(p.caCert)
	if err != nil {
		return err
	}
	cert, err := b64(p.adminCert)
	if err != nil {
		return err
	}
	key, err := b64(p.adminKey)
	if err != nil {
		return err
	}
	doc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: %[1]s
  cluster:
    server: %[2]s
    certificate-authority-data: %[3]s
users:
- name: %[1]s-admin
  user:
    client-certificate-data: %[4]s
    client-key-data: %[5]s
contexts:
- name: %[1]s
  context:
    cluster: %[1]s
    user: %[1]s-admin
current-context: %[1]s
`, name, server, ca, cert, key)
	return writeAtomic(path, []byte(doc))
}
