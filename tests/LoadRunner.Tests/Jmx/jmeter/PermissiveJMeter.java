// Starts Debian's JMeter 2.13 in non-GUI mode. Debian pairs it with XStream 1.4.20, whose default security
// forbids every class JMeter 2.13 does not explicitly allow, so "jmeter -n -t plan.jmx" fails with a
// ForbiddenClassException while loading any plan. This launcher opens SaveService's XStream instances to JMeter's
// own types and then runs JMeter as usual. Used only by the optional JMeter comparison test.
//
// java -Djmeter.home=/usr/share/jmeter -cp "/usr/share/jmeter/bin/ApacheJMeter.jar:/usr/share/jmeter/lib/*:/usr/share/jmeter/lib/ext/*" \
//      PermissiveJMeter.java -n -t plan.jmx -l results.jtl
import java.lang.reflect.Field;

public class PermissiveJMeter {
    public static void main(String[] args) throws Exception {
        // SaveService reads its settings from JMeter's properties when its class initializes: load them first.
        String home = System.getProperty("jmeter.home");
        Class<?> utils = Class.forName("org.apache.jmeter.util.JMeterUtils");
        utils.getMethod("setJMeterHome", String.class).invoke(null, home);
        utils.getMethod("loadJMeterProperties", String.class).invoke(null, home + "/bin/jmeter.properties");

        Class<?> saveService = Class.forName("org.apache.jmeter.save.SaveService");
        Class<?> permission = Class.forName("com.thoughtworks.xstream.security.TypePermission");
        Object any = Class.forName("com.thoughtworks.xstream.security.AnyTypePermission").getField("ANY").get(null);
        for (Field f : saveService.getDeclaredFields()) {
            if (f.getType().getName().startsWith("com.thoughtworks.xstream") || f.getType().getSuperclass() != null && f.getType().getSuperclass().getName().equals("com.thoughtworks.xstream.XStream")) {
                f.setAccessible(true);
                Object xstream = f.get(null);
                if (xstream != null) {
                    xstream.getClass().getMethod("addPermission", permission).invoke(xstream, any);
                }
            }
        }

        Class.forName("org.apache.jmeter.JMeter").getMethod("start", String[].class).invoke(
            Class.forName("org.apache.jmeter.JMeter").getDeclaredConstructor().newInstance(), (Object) args);
    }
}
