package main

import (
	"context"
	"os"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/keyutil"
	"k8s.io/klog/v2"
	namespacecontroller "k8s.io/kubernetes/pkg/controller/namespace"
	sacontroller "k8s.io/kubernetes/pkg/controller/serviceaccount"
	"k8s.io/kubernetes/pkg/serviceaccount"
)

// startControllers runs the kube-controller-manager controllers the harness
// needs: the token controller (fills kubernetes.io/service-account-token
// Secrets), the service-account controller (a "default" ServiceAccount per
// namespace) and the namespace controller (deleted namespaces go away).
func startControllers(ctx context.Context, cfg *rest.Config, p pkiFiles) error {
	logger := klog.FromContext(ctx)
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactory(client, 10*time.Minute)

	key, err := keyutil.PrivateKeyFromFile(p.saKey)
	if err != nil {
		return err
	}
	gen, err := serviceaccount.JWTTokenGenerator(serviceaccount.LegacyIssuer, key)
	if err != nil {
		return err
	}
	rootCA, err := os.ReadFile(p.caCert)
	if err != nil {
		return err
	}
	tokens, err := sacontroller.NewTokensController(logger,
		factory.Core().V1().ServiceAccounts(), factory.Core().V1().Secrets(), client,
		sacontroller.TokensControllerOptions{TokenGenerator: gen, RootCA: rootCA})
	if err != nil {
		return err
	}
	accounts, err := sacontroller.NewServiceAccountsController(logger,
		factory.Core().V1().ServiceAccounts(), factory.Core().V1().Namespaces(), client,
		sacontroller.DefaultServiceAccountsControllerOptions())
	if err != nil {
		return err
	}
	namespaces := namespacecontroller.NewNamespaceController(ctx, client, meta,
		client.Discovery().ServerPreferredNamespacedResources,
		factory.Core().V1().Namespaces(), 5*time.Minute, v1.FinalizerKubernetes)

	factory.Start(ctx.Done())
	go tokens.Run(ctx, 2)
	go accounts.Run(ctx, 2)
	go namespaces.Run(ctx, 2)
	return nil
}
