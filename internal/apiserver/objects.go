package apiserver

import (
	"bytes"
	"fmt"
	"reflect"
	"strconv"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "sigs.k8s.io/json"

	"github.com/skiff/skiff/internal/store"
)

// storageCodec turns stored bytes into objects and back. Objects are
// stored as Kubernetes stores them: the protobuf envelope ("k8s\x00" and a
// runtime.Unknown naming the kind) around the object's protobuf encoding,
// without resourceVersion, which is the key's mod revision. Values that
// start with '{' are read as JSON (data written by early builds).
type storageCodec struct {
	gvk schema.GroupVersionKind
	new func() runtime.Object
}

// protoMagic starts every protobuf-encoded Kubernetes object.
var protoMagic = []byte{0x6b, 0x38, 0x73, 0x00}

type protoMessage interface {
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
}

func (c storageCodec) decode(kv *store.KV) (runtime.Object, error) {
	obj := c.new()
	if err := decodeStored(kv.Value, obj); err != nil {
		return nil, fmt.Errorf("decode %s: %w", kv.Key, err)
	}
	obj.GetObjectKind().SetGroupVersionKind(c.gvk)
	setRV(obj, kv.ModRevision)
	return obj, nil
}

func decodeStored(value []byte, obj runtime.Object) error {
	if !bytes.HasPrefix(value, protoMagic) {
		return kjson.UnmarshalCaseSensitivePreserveInts(value, obj)
	}
	var unk runtime.Unknown
	if err := unk.Unmarshal(value[len(protoMagic):]); err != nil {
		return err
	}
	pm, ok := obj.(protoMessage)
	if !ok {
		return fmt.Errorf("%T has no protobuf encoding", obj)
	}
	return pm.Unmarshal(unk.Raw)
}

func (c storageCodec) encode(obj runtime.Object) ([]byte, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	pm, ok := obj.(protoMessage)
	if !ok {
		return nil, fmt.Errorf("%T has no protobuf encoding", obj)
	}
	rv := m.GetResourceVersion()
	m.SetResourceVersion("")
	raw, err := pm.Marshal()
	m.SetResourceVersion(rv)
	if err != nil {
		return nil, err
	}
	unk := runtime.Unknown{TypeMeta: runtime.TypeMeta{APIVersion: c.gvk.GroupVersion().String(), Kind: c.gvk.Kind}, Raw: raw}
	body, err := unk.Marshal()
	if err != nil {
		return nil, err
	}
	return append(append(make([]byte, 0, len(protoMagic)+len(body)), protoMagic...), body...), nil
}

func setRV(obj runtime.Object, rev int64) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetResourceVersion(strconv.FormatInt(rev, 10))
	}
}

func objMeta(obj runtime.Object) metav1.Object {
	m, err := meta.Accessor(obj)
	if err != nil {
		panic(fmt.Sprintf("object %T has no metadata", obj)) // every served type has ObjectMeta
	}
	return m
}

// statusField returns the Status field of a typed object, if it has one.
func statusField(obj runtime.Object) (reflect.Value, bool) {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, false
	}
	f := v.Elem().FieldByName("Status")
	return f, f.IsValid() && f.CanSet()
}

// copyStatus sets dst's status to src's.
func copyStatus(dst, src runtime.Object) {
	d, ok1 := statusField(dst)
	s, ok2 := statusField(src)
	if ok1 && ok2 {
		d.Set(s)
	}
}

// clearStatus zeroes the status.
func clearStatus(obj runtime.Object) {
	if f, ok := statusField(obj); ok {
		f.Set(reflect.Zero(f.Type()))
	}
}

// specChanged reports whether anything but metadata and status differs.
func specChanged(a, b runtime.Object) bool {
	a, b = a.DeepCopyObject(), b.DeepCopyObject()
	for _, o := range []runtime.Object{a, b} {
		clearStatus(o)
		v := reflect.ValueOf(o).Elem()
		if f := v.FieldByName("ObjectMeta"); f.IsValid() {
			f.Set(reflect.Zero(f.Type()))
		}
		if f := v.FieldByName("TypeMeta"); f.IsValid() {
			f.Set(reflect.Zero(f.Type()))
		}
	}
	return !equality.Semantic.DeepEqual(a, b)
}
