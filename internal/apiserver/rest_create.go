package apiserver

import (
	"context"
	"errors"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/store"
)

// writeOptions are the options common to every write.
type writeOptions struct {
	dryRun  bool
	manager string
	// subresource being written ("", "status", "finalize").
	sub string
	// applied says managedFields were already computed by server-side apply.
	applied bool
	// create says whether a write to a missing object creates it.
	create createPolicy
}

// createPolicy says when an update of a missing object creates it.
type createPolicy int

const (
	// createIfAllowed follows the resource's AllowCreateOnUpdate (PUT).
	createIfAllowed createPolicy = iota
	// createNever answers NotFound (JSON, merge and strategic patches).
	createNever
	// createAlways creates (server-side apply).
	createAlways
)

func (h *resourceHandler) writeOptions(req *request, sub string) (writeOptions, error) {
	dry, err := dryRun(req.query)
	if err != nil {
		return writeOptions{}, err
	}
	manager := req.query.Get("fieldManager")
	if len(manager) > 128 {
		return writeOptions{}, badRequest("fieldManager: Too long: may not be more than 128 bytes")
	}
	if manager == "" {
		manager = managerFromUserAgent(req.r.UserAgent())
	}
	return writeOptions{dryRun: dry, manager: manager, sub: sub}, nil
}

// create serves POST of a collection.
func (h *resourceHandler) create(req *request) error {
	obj, err := h.decodeBody(req)
	if err != nil {
		return err
	}
	opts, err := h.writeOptions(req, "")
	if err != nil {
		return err
	}
	if err := h.checkNamespace(req, obj); err != nil {
		return err
	}
	out, err := h.createObject(req.ctx, obj, opts)
	if err != nil {
		return err
	}
	return h.respond(req, http.StatusCreated, out)
}

// checkNamespace fills in the namespace of the URL and refuses a
// different one in the body.
func (h *resourceHandler) checkNamespace(req *request, obj runtime.Object) error {
	m := objMeta(obj)
	if !h.res.Namespaced {
		m.SetNamespace("")
		return nil
	}
	switch m.GetNamespace() {
	case "":
		m.SetNamespace(req.ri.Namespace)
	case req.ri.Namespace:
	default:
		return badRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	return nil
}

// maxGenerateAttempts bounds retries of generateName on a name clash.
const maxGenerateAttempts = 8

// createObject stores a new object (served version) and returns it with
// its resourceVersion set.
func (h *resourceHandler) createObject(ctx context.Context, obj runtime.Object, opts writeOptions) (runtime.Object, error) {
	m := objMeta(obj)
	if m.GetResourceVersion() != "" {
		return nil, badRequest("resourceVersion should not be set on objects to be created")
	}
	if err := h.s.admission.admitCreate(ctx, h.res, obj); err != nil {
		return nil, err
	}
	generated := m.GetName() == "" && m.GetGenerateName() != ""
	if generated {
		m.SetName(generateName(m.GetGenerateName()))
	}
	h.prepareCreate(obj)
	if errs := h.validateCreate(obj); len(errs) > 0 {
		return nil, invalid(h.res, m.GetName(), errs)
	}
	if !opts.applied {
		obj = h.fm.update(nil, obj, opts.manager, opts.sub)
	}
	if h.alloc != nil {
		return h.createAllocated(ctx, obj, opts)
	}
	if opts.dryRun {
		return obj, nil
	}
	for attempt := 1; ; attempt++ {
		rev, err := h.storeCreate(ctx, obj, nil)
		if err == nil {
			setRV(obj, rev)
			return obj, nil
		}
		if !errors.Is(err, store.ErrExists) || !generated || attempt >= maxGenerateAttempts {
			if errors.Is(err, store.ErrExists) && generated {
				return nil, apierrors.NewServerTimeoutForKind(h.res.GVK().GroupKind(), "POST", 0)
			}
			return nil, toStatusError(err, h.res, m.GetName())
		}
		m.SetName(generateName(m.GetGenerateName()))
	}
}

// createAllocated stores an object that holds allocations, taking them in
// the same transaction; when a concurrent write took a value picked here,
// it picks again.
func (h *resourceHandler) createAllocated(ctx context.Context, obj runtime.Object, opts writeOptions) (runtime.Object, error) {
	name := objMeta(obj).GetName()
	for attempt := 1; ; attempt++ {
		try := obj.DeepCopyObject()
		claims, err := h.alloc.allocate(ctx, try, nil, opts.dryRun)
		if err != nil {
			return nil, err
		}
		if opts.dryRun {
			return try, nil
		}
		rev, err := h.storeCreate(ctx, try, claims)
		var taken *store.ClaimedError
		if errors.As(err, &taken) {
			if attempt < maxAllocateAttempts {
				continue
			}
			return nil, apierrors.NewConflict(h.res.GroupResource(), name, errors.New("too many concurrent allocations, try again"))
		}
		if err != nil {
			return nil, toStatusError(err, h.res, name)
		}
		setRV(try, rev)
		return try, nil
	}
}

func (h *resourceHandler) storeCreate(ctx context.Context, obj runtime.Object, claims []store.Claim) (int64, error) {
	m := objMeta(obj)
	stored, err := h.toStored(obj)
	if err != nil {
		return 0, apierrors.NewInternalError(err)
	}
	data, err := h.codec.encode(stored)
	if err != nil {
		return 0, apierrors.NewInternalError(err)
	}
	return h.s.cfg.Store.CreateWithClaims(ctx, h.key(m.GetNamespace(), m.GetName()), data, h.res.TTL, claims)
}

// prepareCreate sets the fields the server owns and applies defaults.
func (h *resourceHandler) prepareCreate(obj runtime.Object) {
	m := objMeta(obj)
	m.SetUID(uuid.NewUUID())
	m.SetCreationTimestamp(metav1.NewTime(time.Now().Truncate(time.Second)))
	m.SetDeletionTimestamp(nil)
	m.SetDeletionGracePeriodSeconds(nil)
	m.SetSelfLink("")
	if h.res.Generation {
		m.SetGeneration(1)
	} else {
		m.SetGeneration(0)
	}
	if h.res.Status && !h.res.KeepStatusOnCreate {
		clearStatus(obj)
	}
	st := h.res.Strategy
	if st.Default != nil {
		st.Default(obj)
	}
	if st.PrepareForCreate != nil {
		st.PrepareForCreate(obj)
	}
}

func (h *resourceHandler) validateCreate(obj runtime.Object) field.ErrorList {
	errs := h.validateMeta(obj)
	if v := h.res.Strategy.Validate; v != nil {
		errs = append(errs, v(obj)...)
	}
	return errs
}

func (h *resourceHandler) validateMeta(obj runtime.Object) field.ErrorList {
	nameFn := apivalidation.NameIsDNSSubdomain
	if h.res.Strategy.NameValidator != nil {
		nameFn = h.res.Strategy.NameValidator
	}
	return apivalidation.ValidateObjectMetaAccessor(objMeta(obj), h.res.Namespaced, nameFn, field.NewPath("metadata"))
}

// generateName appends five random characters, keeping the name within
// 63 characters as Kubernetes does.
func generateName(prefix string) string {
	const maxPrefix = 63 - 5
	if len(prefix) > maxPrefix {
		prefix = prefix[:maxPrefix]
	}
	return prefix + utilrand.String(5)
}
