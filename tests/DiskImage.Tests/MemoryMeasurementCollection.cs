namespace DiskImage.Tests;

/// <summary>
/// Tests that measure retained memory with <see cref="GC.GetTotalMemory(bool)"/>, which counts the whole process:
/// they run alone, after the parallel tests, so that other tests' allocations do not land between two readings.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurementCollection
{
    public const string Name = "Memory measurement";
}
