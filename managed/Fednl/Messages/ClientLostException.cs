namespace Fednl.Messages;

/// <summary>A client was lost and the run cannot go on without it (the loss policy says stop, or no client is left).</summary>
public sealed class ClientLostException(string message) : Exception(message);
