/*
 * context.c — the build context of POST /build (build.h): the request body
 * is spooled to a file, then unpacked (any compression) into a temp dir of
 * the builder with in-root resolution, so no entry lands outside it. A body
 * that is not a tar is a bare Dockerfile (what `docker build - <Dockerfile`
 * sent to old daemons).
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>

#include "build/build_internal.h"

static bool looks_like_archive(int fd) {
  struct archive *a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_bzip2(a);
  archive_read_support_filter_xz(a);
  archive_read_support_filter_zstd(a);
  archive_read_support_format_tar(a);
  archive_read_support_format_gnutar(a);
  struct archive_entry *e;
  bool ok = archive_read_open_fd(a, fd, 65536) == ARCHIVE_OK && archive_read_next_header(a, &e) == ARCHIVE_OK;
  archive_read_free(a);
  lseek(fd, 0, SEEK_SET);
  return ok;
}

int build_context_unpack(struct builder *b, ssize_t (*rd)(void *rctx, void *buf, size_t len), void *rctx,
                         char **dir, struct berr **err) {
  _cleanup_free_ char *tmp = NULL;
  _cleanup_close_ int fd = -1, cfd = -1; /* before any goto */
  int r = builder_tmpdir(b, &tmp, err);
  if (r < 0)
    return r;
  _cleanup_free_ char *spool = xasprintf("%s/.body", tmp);
  fd = open(spool, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    r = berr_sys(err, errno, "create %s", spool);
    goto fail;
  }
  unlink(spool);
  char buf[65536];
  size_t total = 0;
  for (;;) {
    ssize_t k = rd(rctx, buf, sizeof buf);
    if (k < 0) {
      r = berr_sys(err, (int)-k, "read the build context");
      goto fail;
    }
    if (k == 0)
      break;
    if (write(fd, buf, (size_t)k) != k) {
      r = berr_sys(err, errno, "spool the build context");
      goto fail;
    }
    total += (size_t)k;
  }
  lseek(fd, 0, SEEK_SET);
  cfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cfd < 0) {
    r = berr_sys(err, errno, "open %s", tmp);
    goto fail;
  }
  if (total > 0 && looks_like_archive(fd)) {
    if ((r = bfs_extract_fd(fd, cfd, err)) < 0) {
      berr_wrap(err, "unpack the build context");
      goto fail;
    }
  } else if (total > 0) {
    _cleanup_close_ int out = openat(cfd, "Dockerfile", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    ssize_t k;
    while (out >= 0 && (k = read(fd, buf, sizeof buf)) > 0)
      if (write(out, buf, (size_t)k) != k) {
        r = berr_sys(err, errno, "write Dockerfile");
        goto fail;
      }
  }
  /* the spool file is already unlinked: the dir holds the context only */
  *dir = steal_ptr(tmp);
  return 0;
fail:
  rm_rf(tmp, NULL);
  return r;
}
