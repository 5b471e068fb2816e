using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace Constellation.Runs.Jmx;

/// <summary>
/// One test element of a JMeter .jmx file with its children. A .jmx stores each element followed by a
/// <c>hashTree</c> sibling that holds the element's children.
/// </summary>
public sealed class JmxElement
{
    private JmxElement(XElement xml, string path)
    {
        Xml = xml;
        Path = path;
    }

    public XElement Xml { get; }

    /// <summary>The XML tag: the test class, e.g. ThreadGroup, HTTPSamplerProxy, kg.apc.jmeter.threads.SteppingThreadGroup.</summary>
    public string Tag => Xml.Name.LocalName;

    /// <summary>The GUI class, which tells a ConfigTestElement that is HTTP Request Defaults from others.</summary>
    public string GuiClass => (string?)Xml.Attribute("guiclass") ?? string.Empty;

    /// <summary>The name shown in JMeter's tree.</summary>
    public string Name => (string?)Xml.Attribute("testname") ?? Tag;

    public bool Enabled => !string.Equals((string?)Xml.Attribute("enabled"), "false", StringComparison.OrdinalIgnoreCase);

    /// <summary>Where the element sits, by names: "Test Plan / spin ramp / HTTP Request".</summary>
    public string Path { get; }

    public IReadOnlyList<JmxElement> Children { get; private set; } = [];

    /// <summary>A property's text (stringProp, intProp, longProp, boolProp, doubleProp, floatProp), or null.</summary>
    public string? Prop(string name) => PropOf(Xml, name);

    /// <summary>A nested element property (elementProp) by name.</summary>
    public XElement? ElementProp(string name) => Xml.Elements("elementProp").FirstOrDefault(e => (string?)e.Attribute("name") == name);

    public static string? PropOf(XElement owner, string name)
    {
        foreach (var e in owner.Elements())
        {
            switch (e.Name.LocalName)
            {
                case "stringProp" or "intProp" or "longProp" or "boolProp" or "floatProp" or "doubleProp" when (string?)e.Attribute("name") == name:
                    return e.Value;
                case "doubleProp" or "floatProp" when e.Element("name")?.Value == name:
                    // Test-bean properties: <doubleProp><name>throughput</name><value>600.0</value></doubleProp>
                    return e.Element("value")?.Value;
            }
        }

        return null;
    }

    /// <summary>The items of a collectionProp inside <paramref name="owner"/>.</summary>
    public static IEnumerable<XElement> Collection(XElement? owner, string name) =>
        owner?.Elements("collectionProp").FirstOrDefault(e => (string?)e.Attribute("name") == name)?.Elements() ?? [];

    /// <summary>Reads a .jmx: the test plan element with its tree.</summary>
    public static JmxElement Parse(string xml)
    {
        XDocument doc;
        try
        {
            doc = XDocument.Parse(xml, LoadOptions.None);
        }
        catch (XmlException e)
        {
            throw new JmxFormatException($"not well-formed XML: {e.Message}");
        }

        if (doc.Root is not { Name.LocalName: "jmeterTestPlan" } root)
        {
            throw new JmxFormatException($"not a JMeter test plan: the root element is <{doc.Root?.Name.LocalName}>, expected <jmeterTestPlan>");
        }

        var top = ReadTree(root.Element("hashTree"), string.Empty);
        return top.FirstOrDefault(e => e.Tag == "TestPlan")
            ?? throw new JmxFormatException("the file holds no <TestPlan> element");
    }

    private static List<JmxElement> ReadTree(XElement? hashTree, string parentPath)
    {
        var result = new List<JmxElement>();
        if (hashTree is null)
        {
            return result;
        }

        JmxElement? last = null;
        foreach (var x in hashTree.Elements())
        {
            if (x.Name.LocalName == "hashTree")
            {
                if (last is not null)
                {
                    last.Children = ReadTree(x, last.Path);
                }

                continue;
            }

            var name = (string?)x.Attribute("testname") ?? x.Name.LocalName;
            last = new JmxElement(x, parentPath.Length == 0 ? name : $"{parentPath} / {name}");
            result.Add(last);
        }

        return result;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Path} [{Tag}]");
}

/// <summary>The file is not a readable JMeter test plan.</summary>
public sealed class JmxFormatException(string message) : Exception(message);
