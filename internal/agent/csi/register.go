package csi

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/util/version"
	regv1 "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// register runs the registration handshake with the plugin at the socket
// path: GetInfo, admission (checks, connecting to the driver, recording
// it on the Node and in the registry), and NotifyRegistrationStatus with
// the outcome. A plugin that is not told it is registered is not.
func (w *Watcher) register(ctx context.Context, path string) (*Driver, error) {
	conn, err := dialUnix(path)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	reg := regv1.NewRegistrationClient(conn)
	info, err := reg.GetInfo(ctx, &regv1.InfoRequest{})
	if err != nil {
		return nil, fmt.Errorf("csi: GetInfo: %w", err)
	}
	d, err := w.admit(ctx, path, info)
	status := &regv1.RegistrationStatus{PluginRegistered: err == nil}
	if err != nil {
		status.Error = err.Error()
	}
	if _, nerr := reg.NotifyRegistrationStatus(ctx, status); nerr != nil {
		if err != nil {
			return nil, err
		}
		w.undo(ctx, d)
		return nil, fmt.Errorf("csi: NotifyRegistrationStatus: %w", nerr)
	}
	return d, err
}

// admit checks the plugin's answer and registers its driver.
func (w *Watcher) admit(ctx context.Context, path string, info *regv1.PluginInfo) (*Driver, error) {
	if info.GetType() != regv1.CSIPlugin {
		return nil, fmt.Errorf("%w: plugin type %q is not handled (only %s)", ErrRejected, info.GetType(), regv1.CSIPlugin)
	}
	name := info.GetName()
	if name == "" {
		return nil, fmt.Errorf("%w: the plugin gave no name", ErrRejected)
	}
	v, err := highestVersion(info.GetSupportedVersions())
	if err != nil {
		return nil, fmt.Errorf("driver %s: %w", name, err)
	}
	if h := w.registry.holder(name, path); h != nil {
		if hv, err := version.ParseGeneric(h.Version); err == nil && !hv.LessThan(v) {
			return nil, fmt.Errorf("%w: driver %s is already registered with version %s through %s", ErrRejected, name, h.Version, h.socket)
		}
	}
	endpoint := info.GetEndpoint()
	if endpoint == "" {
		endpoint = path
	}
	d, err := Connect(ctx, name, endpoint)
	if err != nil {
		return nil, err
	}
	d.socket, d.Version = path, v.String()
	if err := w.node.install(ctx, d); err != nil {
		_ = d.Close()
		return nil, err
	}
	if old := w.registry.Add(d); old != nil {
		_ = old.Close()
	}
	return d, nil
}

// undo takes back a registration the plugin did not hear about.
func (w *Watcher) undo(ctx context.Context, d *Driver) {
	if w.registry.remove(d.Name, d.socket) == nil {
		return
	}
	_ = d.Close()
	if err := w.node.uninstall(ctx, d.Name); err != nil {
		w.log.Warn("remove CSI driver from node", "driver", d.Name, "err", err)
	}
}
