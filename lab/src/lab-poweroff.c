/* Power the guest off from the lab init (PID 1): sync, then reboot(RB_POWER_OFF).
 * The minbase guest has no init system, hence no poweroff(8). */
#include <stdio.h>
#include <sys/reboot.h>
#include <unistd.h>

int main(void)
{
	sync();
	reboot(RB_POWER_OFF);
	perror("reboot(RB_POWER_OFF)");
	return 1;
}
