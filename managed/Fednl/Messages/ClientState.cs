using Fednl.Kernels;

namespace Fednl.Messages;

/// <summary>
/// A client's algorithm state as the server can know it: H_i (packed) and FedNL-PP's w_i and l_i. It is a function
/// of the requests the client answered and its replies (H_i⁰, then H_i += α S_i; w_i = x and l_i at each
/// participation), so <see cref="Apply"/> keeps it exactly equal to the client's own state. A client that comes
/// back, or a server resumed from a checkpoint, hands it to the client in a Restore request.
/// </summary>
public sealed class ClientState(int id, int dimension)
{
    public int Id { get; } = id;
    public int Dimension { get; } = dimension;

    /// <summary>H_i (packed, D entries).</summary>
    public double[] Shift { get; } = new double[PackedSymmetric.Length(dimension)];

    /// <summary>FedNL-PP: w_i, the model of the client's last participation, and l_i.</summary>
    public double[] LocalModel { get; } = new double[dimension];
    public double LocalDifferenceNorm { get; set; }

    /// <summary>Copies this state into <paramref name="destination"/> (same client, same d).</summary>
    public void CopyTo(ClientState destination)
    {
        Shift.CopyTo(destination.Shift, 0);
        LocalModel.CopyTo(destination.LocalModel, 0);
        destination.LocalDifferenceNorm = LocalDifferenceNorm;
    }

    /// <summary>Moves the state as the client moved its own when it answered <paramref name="request"/> with <paramref name="reply"/>.</summary>
    public void Apply(ClientRequest request, ClientReply reply)
    {
        switch (request.Kind)
        {
            case RequestKind.Initialize:
                reply.CopyShiftTo(Shift);
                LocalDifferenceNorm = 0;
                if (request.PartialParticipation) request.Vector.CopyTo(LocalModel);
                break;
            case RequestKind.Round:
                HessianCompressor.AddScaled(Dimension, Shift, request.Alpha, reply.Difference!);
                if (request.Participate)
                {
                    request.Vector.CopyTo(LocalModel);
                    LocalDifferenceNorm = reply.DifferenceNorm;
                }
                break;
        }
    }
}
