/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * backend_uffd.c — write protection with userfaultfd (UFFDIO_WRITEPROTECT on
 * shmem, Linux >= 5.19). With UFFD_FEATURE_SIGBUS the kernel raises SIGBUS in
 * the writing thread instead of queueing an event, so the fault is resolved
 * where it happened, with no handler thread. Protection lives in page-table
 * entries: it never splits a memory mapping (mapping.c maps forked spaces
 * read-only as a whole instead, which is a mapping's protection).
 *
 * The descriptor is opened with UFFD_USER_MODE_ONLY, which unprivileged users
 * may do (Linux >= 5.11); failing that, plainly, then through /dev/userfaultfd.
 * Kernel writes into protected pages fail with EFAULT either way (SIGBUS mode).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1 << 12)
#endif
#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif

static int uffd = -1;

static int uffd_open(void)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	int dev;

	if (fd >= 0)
		return fd;
	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0)
		return fd;
	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -EPERM;
	fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
	close(dev);
	return fd >= 0 ? fd : -EPERM;
}

/*
 * uffd_init — open the descriptor and check the features libcow needs, then
 * prove on a scratch shmem page that write-protect works (some kernels
 * advertise the feature but refuse it on shmem). Returns 0, -EPERM (not
 * allowed), -EOPNOTSUPP (kernel too old), or -errno.
 */
static int uffd_init(void)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_SIGBUS | UFFD_FEATURE_WP_HUGETLBFS_SHMEM,
	};
	int fd = uffd_open(), err = 0;
	int mfd;
	void *p;

	if (fd < 0)
		return fd;
	if (ioctl(fd, UFFDIO_API, &api)) {
		err = errno == EINVAL ? -EOPNOTSUPP : -errno;
		close(fd);
		return err;
	}
	mfd = memfd_create("libcow-probe", MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, COW__PAGE)) {
		err = -errno;
		goto out;
	}
	p = mmap(NULL, COW__PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (p == MAP_FAILED) {
		err = -errno;
		goto out;
	}
	{
		struct uffdio_register reg = {
			.range = { (uintptr_t)p, COW__PAGE },
			.mode = UFFDIO_REGISTER_MODE_WP,
		};
		struct uffdio_writeprotect wp = {
			.range = { (uintptr_t)p, COW__PAGE },
			.mode = UFFDIO_WRITEPROTECT_MODE_WP,
		};
		if (ioctl(fd, UFFDIO_REGISTER, &reg) || ioctl(fd, UFFDIO_WRITEPROTECT, &wp))
			err = errno == EINVAL ? -EOPNOTSUPP : -errno;
	}
	munmap(p, COW__PAGE);
out:
	if (mfd >= 0)
		close(mfd);
	if (err) {
		close(fd);
		return err;
	}
	uffd = fd;
	return 0;
}

static void uffd_reset_after_fork(void)
{
	/*
	 * The descriptor belongs to the parent's address space: never use it.
	 * A new one is opened when the child first needs it (the kernel was
	 * probed already: the child runs on the same kernel).
	 */
	if (uffd >= 0)
		close(uffd);
	uffd = -1;
}

/* A descriptor for this address space, after a fork(). 0 or -errno. */
static int uffd_reopen(void)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_SIGBUS | UFFD_FEATURE_WP_HUGETLBFS_SHMEM,
	};
	int fd = uffd_open();

	if (fd < 0)
		return fd;
	if (ioctl(fd, UFFDIO_API, &api)) {
		int err = -errno;

		close(fd);
		return err;
	}
	uffd = fd;
	return 0;
}

static int uffd_attach(void *addr, size_t len)
{
	struct uffdio_register reg = {
		.range = { (uintptr_t)addr, len },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	int err;

	if (uffd < 0 && (err = uffd_reopen()))
		return err;

	return ioctl(uffd, UFFDIO_REGISTER, &reg) ? -errno : 0;
}

static int uffd_wp(void *addr, size_t len, bool on)
{
	struct uffdio_writeprotect wp = {
		.range = { (uintptr_t)addr, len },
		.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	while (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp)) {
		if (errno != EAGAIN)
			return -errno;
	}
	return 0;
}

static int uffd_protect(void *addr, size_t len)
{
	return uffd_wp(addr, len, true);
}

static int uffd_unprotect(void *addr, size_t len)
{
	return uffd_wp(addr, len, false);
}

const struct cow__backend cow__backend_uffd = {
	.name = "uffd",
	.init = uffd_init,
	.reset_after_fork = uffd_reset_after_fork,
	.attach = uffd_attach,
	.protect = uffd_protect,
	.unprotect = uffd_unprotect,
	.map_prot_protected = PROT_READ | PROT_WRITE,
	.prot_splits = false,
	.fault_populates = true,
	.signo = SIGBUS,
};
