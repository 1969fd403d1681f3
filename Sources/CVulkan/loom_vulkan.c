// The header's layouts, checked against the Khronos header (sizes printed on x86-64 Linux by a
// program built with Debian's libvulkan-dev 1.3.239; these structs hold only fixed-size fields,
// so every LP64 platform lays them out alike): a regenerated header that drifted would fail to
// compile here rather than corrupt memory at run time.
#include "loom_vulkan.h"

#if defined(__LP64__)
_Static_assert(sizeof(VkPhysicalDeviceLimits) == 504, "VkPhysicalDeviceLimits");
_Static_assert(sizeof(VkPhysicalDeviceProperties) == 824, "VkPhysicalDeviceProperties");
_Static_assert(sizeof(VkPhysicalDeviceFeatures) == 220, "VkPhysicalDeviceFeatures");
_Static_assert(sizeof(VkPhysicalDeviceVulkan12Features) == 208, "VkPhysicalDeviceVulkan12Features");
_Static_assert(sizeof(VkPhysicalDeviceMemoryProperties) == 520, "VkPhysicalDeviceMemoryProperties");
#endif
