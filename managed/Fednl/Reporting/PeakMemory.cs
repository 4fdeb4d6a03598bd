namespace Fednl.Reporting;

/// <summary>The process's peak resident memory, as the kernel reports it (Linux: VmHWM in /proc/self/status).</summary>
public static class PeakMemory
{
    /// <summary>Peak resident bytes, or null where the system does not report it.</summary>
    public static long? ResidentBytes()
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path)) return null;
        foreach (var line in File.ReadLines(path))
        {
            if (!line.StartsWith("VmHWM:", StringComparison.Ordinal)) continue;
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return parts.Length >= 2 && long.TryParse(parts[1], out long kb) ? kb * 1024 : null;
        }
        return null;
    }
}
