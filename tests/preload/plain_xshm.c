/* SPDX-License-Identifier: MIT */
/*
 * Plain libc + Xlib: the MIT-SHM round trip an X11 client does — a segment shared with the X
 * server (XShmAttach: the server shmat()s it by id), an image put into a pixmap from it
 * (XShmPutImage) and read back into it (XShmGetImage). Prints whether the pixels survived and
 * whether the segment is in the kernel's own table (asked by system call).
 */
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/extensions/XShm.h>

#define W 64
#define H 64

int main(void)
{
	Display *d = XOpenDisplay(NULL);
	if (!d) {
		fprintf(stderr, "xshm: cannot open the display\n");
		return 1;
	}
	if (!XShmQueryExtension(d)) {
		fprintf(stderr, "xshm: no MIT-SHM\n");
		return 2;
	}
	int scr = DefaultScreen(d), depth = DefaultDepth(d, scr);
	Pixmap pm = XCreatePixmap(d, RootWindow(d, scr), W, H, (unsigned)depth);
	XShmSegmentInfo si;
	XImage *img =
	    XShmCreateImage(d, DefaultVisual(d, scr), (unsigned)depth, ZPixmap, NULL, &si, W, H);
	size_t len = (size_t)img->bytes_per_line * (size_t)img->height;
	si.shmid = shmget(IPC_PRIVATE, len, IPC_CREAT | 0600);
	si.shmaddr = img->data = shmat(si.shmid, NULL, 0);
	si.readOnly = False;
	if (si.shmid < 0 || si.shmaddr == (void *)-1 || !XShmAttach(d, &si))
		return 3;
	XSync(d, False);
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			XPutPixel(img, x, y, (unsigned long)(x * 4 + y * 1024) & 0xffffff);
	GC gc = XCreateGC(d, pm, 0, NULL);
	XShmPutImage(d, pm, gc, img, 0, 0, 0, 0, W, H, False);
	XSync(d, False);
	memset(img->data, 0, len);
	if (!XShmGetImage(d, pm, img, 0, 0, AllPlanes))
		return 4;
	int bad = 0;
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			bad +=
			    XGetPixel(img, x, y) != ((unsigned long)(x * 4 + y * 1024) & 0xffffff);
	struct shmid_ds ds;
	int in_kernel = syscall(SYS_shmctl, si.shmid, IPC_STAT, &ds) == 0;
	printf("xshm: %d of %d pixels came back wrong\n", bad, W * H);
	printf("xshm: the segment is %sin the kernel's table\n", in_kernel ? "" : "not ");
	XShmDetach(d, &si);
	XSync(d, False);
	shmdt(si.shmaddr);
	shmctl(si.shmid, IPC_RMID, NULL);
	XFreeGC(d, gc);
	XFreePixmap(d, pm);
	XCloseDisplay(d);
	return bad ? 5 : 0;
}
