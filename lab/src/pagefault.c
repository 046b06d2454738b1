/* lab pagefault workload: touch every 4 KiB page of a large anonymous mapping.
 *
 * usage: pagefault MIB PASSES
 * Each pass mmaps MIB MiB of private anonymous memory, writes one byte in every
 * 4 KiB page (one minor page fault per page: the kernel allocates and zeroes the
 * page) and munmaps it again. Transparent huge pages are disabled for the area
 * (MADV_NOHUGEPAGE) so that every environment takes one fault per 4 KiB page.
 * Prints the number of pages touched and a checksum so the work cannot be elided.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s MIB PASSES\n", argv[0]);
		return 2;
	}
	long mib = atol(argv[1]), passes = atol(argv[2]);
	if (mib <= 0 || passes <= 0) {
		fprintf(stderr, "MIB and PASSES must be positive\n");
		return 2;
	}
	size_t len = (size_t)mib << 20, page = 4096, pages = 0;
	unsigned long sum = 0;
	for (long p = 0; p < passes; p++) {
		unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
#ifdef MADV_NOHUGEPAGE
		madvise(m, len, MADV_NOHUGEPAGE);
#endif
		for (size_t off = 0; off < len; off += page) {
			m[off] = (unsigned char)(off >> 12);
			pages++;
		}
		for (size_t off = page; off < len; off += 1 << 20)
			sum += m[off];
		munmap(m, len);
	}
	printf("pages touched: %zu checksum: %lu\n", pages, sum);
	return 0;
}
