package csidriver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	csipb "github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

type nodeServer struct {
	csipb.UnimplementedNodeServer
	d *Driver
}

func (s nodeServer) NodeGetInfo(_ context.Context, req *csipb.NodeGetInfoRequest) (*csipb.NodeGetInfoResponse, error) {
	if err := s.d.record("NodeGetInfo", req); err != nil {
		return nil, err
	}
	return &csipb.NodeGetInfoResponse{NodeId: s.d.cfg.NodeID}, nil
}

func (s nodeServer) NodeGetCapabilities(_ context.Context, req *csipb.NodeGetCapabilitiesRequest) (*csipb.NodeGetCapabilitiesResponse, error) {
	if err := s.d.record("NodeGetCapabilities", req); err != nil {
		return nil, err
	}
	resp := &csipb.NodeGetCapabilitiesResponse{}
	if !s.d.cfg.NoStage {
		resp.Capabilities = append(resp.Capabilities, &csipb.NodeServiceCapability{Type: &csipb.NodeServiceCapability_Rpc{
			Rpc: &csipb.NodeServiceCapability_RPC{Type: csipb.NodeServiceCapability_RPC_STAGE_UNSTAGE_VOLUME}}})
	}
	return resp, nil
}

// NodeStageVolume creates the volume's directory if missing and
// bind-mounts it on the staging path.
func (s nodeServer) NodeStageVolume(_ context.Context, req *csipb.NodeStageVolumeRequest) (*csipb.NodeStageVolumeResponse, error) {
	if err := s.d.record("NodeStageVolume", req); err != nil {
		return nil, err
	}
	if s.d.cfg.NoStage {
		return nil, status.Error(codes.FailedPrecondition, "this driver does not stage volumes")
	}
	if err := checkRequest(req.GetVolumeId(), req.GetStagingTargetPath(), req.GetVolumeCapability()); err != nil {
		return nil, err
	}
	s.d.opMu.Lock()
	defer s.d.opMu.Unlock()
	src, err := s.d.volumeDir(req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	if err := mountOnce(src, req.GetStagingTargetPath(), false); err != nil {
		return nil, err
	}
	return &csipb.NodeStageVolumeResponse{}, nil
}

func (s nodeServer) NodeUnstageVolume(_ context.Context, req *csipb.NodeUnstageVolumeRequest) (*csipb.NodeUnstageVolumeResponse, error) {
	if err := s.d.record("NodeUnstageVolume", req); err != nil {
		return nil, err
	}
	if req.GetVolumeId() == "" || req.GetStagingTargetPath() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume_id and staging_target_path are required")
	}
	s.d.opMu.Lock()
	defer s.d.opMu.Unlock()
	if err := unmount(req.GetStagingTargetPath()); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csipb.NodeUnstageVolumeResponse{}, nil
}

// NodePublishVolume bind-mounts the staging path (or, without staging, the
// volume's directory) on the target path, which it creates.
func (s nodeServer) NodePublishVolume(_ context.Context, req *csipb.NodePublishVolumeRequest) (*csipb.NodePublishVolumeResponse, error) {
	if err := s.d.record("NodePublishVolume", req); err != nil {
		return nil, err
	}
	if err := checkRequest(req.GetVolumeId(), req.GetTargetPath(), req.GetVolumeCapability()); err != nil {
		return nil, err
	}
	s.d.opMu.Lock()
	defer s.d.opMu.Unlock()
	src, err := s.d.publishSource(req)
	if err != nil {
		return nil, err
	}
	if err := mountOnce(src, req.GetTargetPath(), req.GetReadonly()); err != nil {
		return nil, err
	}
	return &csipb.NodePublishVolumeResponse{}, nil
}

// NodeUnpublishVolume unmounts the target and removes it, as the SP that
// created it must.
func (s nodeServer) NodeUnpublishVolume(_ context.Context, req *csipb.NodeUnpublishVolumeRequest) (*csipb.NodeUnpublishVolumeResponse, error) {
	if err := s.d.record("NodeUnpublishVolume", req); err != nil {
		return nil, err
	}
	if req.GetVolumeId() == "" || req.GetTargetPath() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume_id and target_path are required")
	}
	s.d.opMu.Lock()
	defer s.d.opMu.Unlock()
	if err := unmount(req.GetTargetPath()); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if err := os.Remove(req.GetTargetPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csipb.NodeUnpublishVolumeResponse{}, nil
}

// publishSource is what a publish mounts: the staging path, which must be
// staged, or the volume's directory for a driver that does not stage.
func (d *Driver) publishSource(req *csipb.NodePublishVolumeRequest) (string, error) {
	if d.cfg.NoStage {
		return d.volumeDir(req.GetVolumeId())
	}
	staging := req.GetStagingTargetPath()
	if staging == "" {
		return "", status.Error(codes.FailedPrecondition, "staging_target_path is required: the volume must be staged first")
	}
	staged, err := mounted(staging)
	if err != nil {
		return "", status.Error(codes.Internal, err.Error())
	}
	if !staged {
		return "", status.Errorf(codes.FailedPrecondition, "volume %s is not staged at %s", req.GetVolumeId(), staging)
	}
	return staging, nil
}

// volumeDir returns volume id's directory, created (mode 0777, so pods of
// any user can write) if missing.
func (d *Driver) volumeDir(id string) (string, error) {
	dir := d.VolumeDir(id)
	if err := os.Mkdir(dir, 0o777); err != nil {
		if errors.Is(err, os.ErrExist) {
			return dir, nil
		}
		return "", status.Error(codes.Internal, err.Error())
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		return "", status.Error(codes.Internal, err.Error())
	}
	return dir, nil
}

// mountOnce bind-mounts src on target (created if missing) unless
// something is mounted there already: repeated calls succeed, as CSI
// requires.
func mountOnce(src, target string, readOnly bool) error {
	if err := os.MkdirAll(target, 0o750); err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	done, err := mounted(target)
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	if done {
		return nil
	}
	if err := bind(src, target, readOnly); err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	return nil
}

// checkRequest checks what stage and publish requests share: a volume ID
// that is a plain name, an absolute path, a mount capability.
func checkRequest(id, path string, capability *csipb.VolumeCapability) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\x00") {
		return status.Errorf(codes.InvalidArgument, "invalid volume_id %q", id)
	}
	if !filepath.IsAbs(path) {
		return status.Errorf(codes.InvalidArgument, "path %q must be absolute", path)
	}
	if capability == nil || capability.GetAccessMode() == nil {
		return status.Error(codes.InvalidArgument, "volume_capability with an access mode is required")
	}
	if capability.GetMount() == nil {
		return status.Error(codes.InvalidArgument, fmt.Sprintf("only mount volumes are served, not %T", capability.GetAccessType()))
	}
	return nil
}
