package queue

import "testing"

func TestStorageOK(t *testing.T) {
	dir := t.TempDir()
	free, err := FreeSpace(dir)
	if err != nil || free <= 0 {
		t.Fatalf("FreeSpace = %d, %v", free, err)
	}
	if !StorageOK(dir, 0, 0, 0) {
		t.Error("no limits: refused")
	}
	if StorageOK(dir, free, 0, 0) {
		t.Error("1.5 x a limit equal to the free space: accepted")
	}
	if StorageOK(dir, 0, free+1, 0) {
		t.Error("queue_minfree above the free space: accepted")
	}
	if StorageOK(dir, 0, 0, free+1) {
		t.Error("SIZE above the free space: accepted")
	}
	if !StorageOK(dir+"/nonexistent", 1<<62, 0, 0) {
		t.Error("statfs failure: refused")
	}
}
