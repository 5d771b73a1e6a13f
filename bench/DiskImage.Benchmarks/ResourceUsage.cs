using System.Runtime.InteropServices;

namespace DiskImage.Benchmarks;

/// <summary>
/// CPU time (user + system) of this process or of its waited-for children, from <c>getrusage</c>. On a shared
/// machine wall time swings with the load; the CPU a job costs does much less, so both are reported.
/// </summary>
internal static partial class ResourceUsage
{
    private const int Self = 0;
    private const int Children = -1;

    /// <summary>Milliseconds of CPU used so far by this process's threads.</summary>
    public static double SelfCpuMilliseconds() => CpuMilliseconds(Self);

    /// <summary>Milliseconds of CPU used so far by the children this process has waited for.</summary>
    public static double ChildrenCpuMilliseconds() => CpuMilliseconds(Children);

    private static double CpuMilliseconds(int who)
    {
        // struct rusage on 64-bit Linux starts with two struct timeval (seconds, microseconds); 14 longs follow.
        Span<long> usage = stackalloc long[18];
        if (GetResourceUsage(who, ref MemoryMarshal.GetReference(usage)) != 0)
        {
            throw new InvalidOperationException($"getrusage failed: errno {Marshal.GetLastPInvokeError()}");
        }

        return ((usage[0] + usage[2]) * 1000.0) + ((usage[1] + usage[3]) / 1000.0);
    }

    [LibraryImport("libc", EntryPoint = "getrusage", SetLastError = true)]
    private static partial int GetResourceUsage(int who, ref long usage);
}
