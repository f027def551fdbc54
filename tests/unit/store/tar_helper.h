/* tar_helper.h — build small tars in memory (a memfd) for the store's tests. */
#ifndef BERTH_TEST_TAR_HELPER_H
#define BERTH_TEST_TAR_HELPER_H

#include <archive.h>
#include <archive_entry.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

struct tb {
  struct archive *a;
  int fd;
};

static inline void tb_open(struct tb *t, const char *filter) {
  t->fd = memfd_create("tar", MFD_CLOEXEC);
  t->a = archive_write_new();
  archive_write_set_format_pax(t->a);
  if (filter && strcmp(filter, "gzip") == 0)
    archive_write_add_filter_gzip(t->a);
  else if (filter && strcmp(filter, "zstd") == 0)
    archive_write_add_filter_zstd(t->a);
  archive_write_open_fd(t->a, t->fd);
}

/* type: 'f' file, 'd' dir, 'l' symlink (data = target), 'h' hard link
 * (data = target), 'c' char dev, 'p' fifo */
static inline void tb_add(struct tb *t, char type, const char *name, const char *data, mode_t mode, int uid) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_uid(e, uid);
  archive_entry_set_gid(e, uid);
  archive_entry_set_perm(e, mode);
  archive_entry_set_mtime(e, 1000000, 5);
  size_t len = 0;
  switch (type) {
  case 'f':
    archive_entry_set_filetype(e, AE_IFREG);
    len = data ? strlen(data) : 0;
    archive_entry_set_size(e, (la_int64_t)len);
    break;
  case 'd': archive_entry_set_filetype(e, AE_IFDIR); break;
  case 'l':
    archive_entry_set_filetype(e, AE_IFLNK);
    archive_entry_set_symlink(e, data);
    break;
  case 'h':
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_hardlink(e, data);
    break;
  case 'c':
    archive_entry_set_filetype(e, AE_IFCHR);
    archive_entry_set_rdev(e, makedev(1, 3));
    break;
  case 'p': archive_entry_set_filetype(e, AE_IFIFO); break;
  }
  archive_write_header(t->a, e);
  if (len)
    archive_write_data(t->a, data, len);
  archive_entry_free(e);
}

static inline void tb_add_xattr(struct tb *t, const char *name, const char *key, const char *val) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, 0);
  archive_entry_xattr_add_entry(e, key, val, strlen(val));
  archive_write_header(t->a, e);
  archive_entry_free(e);
}

static inline void tb_add_bytes(struct tb *t, const char *name, const void *data, size_t len) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, (la_int64_t)len);
  archive_write_header(t->a, e);
  archive_write_data(t->a, data, len);
  archive_entry_free(e);
}

/* The whole content of an fd (from 0); *len set. Caller frees. */
static inline char *fd_slurp(int fd, size_t *len) {
  struct stat st;
  fstat(fd, &st);
  char *b = malloc((size_t)st.st_size + 1);
  *len = (size_t)pread(fd, b, (size_t)st.st_size, 0);
  return b;
}

/* Finish; returns the fd positioned at 0 (caller closes). */
static inline int tb_close(struct tb *t) {
  archive_write_close(t->a);
  archive_write_free(t->a);
  lseek(t->fd, 0, SEEK_SET);
  return t->fd;
}

#endif
