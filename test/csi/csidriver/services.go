package csidriver

import (
	"context"

	csipb "github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/protobuf/types/known/wrapperspb"
	regv1 "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// vendorVersion is the driver's own version.
const vendorVersion = "0.1.0"

type identityServer struct {
	csipb.UnimplementedIdentityServer
	d *Driver
}

func (s identityServer) GetPluginInfo(_ context.Context, req *csipb.GetPluginInfoRequest) (*csipb.GetPluginInfoResponse, error) {
	if err := s.d.record("GetPluginInfo", req); err != nil {
		return nil, err
	}
	return &csipb.GetPluginInfoResponse{Name: s.d.cfg.Name, VendorVersion: vendorVersion}, nil
}

func (s identityServer) GetPluginCapabilities(_ context.Context, req *csipb.GetPluginCapabilitiesRequest) (*csipb.GetPluginCapabilitiesResponse, error) {
	if err := s.d.record("GetPluginCapabilities", req); err != nil {
		return nil, err
	}
	return &csipb.GetPluginCapabilitiesResponse{}, nil
}

func (s identityServer) Probe(_ context.Context, req *csipb.ProbeRequest) (*csipb.ProbeResponse, error) {
	if err := s.d.record("Probe", req); err != nil {
		return nil, err
	}
	return &csipb.ProbeResponse{Ready: wrapperspb.Bool(true)}, nil
}

type registrationServer struct {
	regv1.UnimplementedRegistrationServer
	d *Driver
}

func (s registrationServer) GetInfo(_ context.Context, req *regv1.InfoRequest) (*regv1.PluginInfo, error) {
	if err := s.d.record("GetInfo", req); err != nil {
		return nil, err
	}
	return &regv1.PluginInfo{Type: regv1.CSIPlugin, Name: s.d.cfg.Name, Endpoint: s.d.endpoint,
		SupportedVersions: s.d.cfg.Versions}, nil
}

func (s registrationServer) NotifyRegistrationStatus(_ context.Context, st *regv1.RegistrationStatus) (*regv1.RegistrationStatusResponse, error) {
	if err := s.d.record("NotifyRegistrationStatus", st); err != nil {
		return nil, err
	}
	s.d.mu.Lock()
	s.d.statuses = append(s.d.statuses, st)
	s.d.mu.Unlock()
	if !st.GetPluginRegistered() {
		s.d.log.Warn("registration refused", "err", st.GetError())
	}
	return &regv1.RegistrationStatusResponse{}, nil
}
